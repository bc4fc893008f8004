// Durability of an acknowledged write, a setting every storage implementation maps onto its own.
#pragma once

namespace aexd::store {

/// full: survives power loss; normal (the default): survives a process crash; off: neither.
enum class Sync { off, normal, full };

}  // namespace aexd::store
