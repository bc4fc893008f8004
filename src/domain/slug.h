// Slugs: the URL-safe short name derived from a resource's display name.
#pragma once

#include <string>
#include <string_view>

namespace aexd {

/// Lower-case, spaces to hyphens, drop everything but a-z 0-9 -, collapse hyphen runs, trim hyphens.
std::string slugify(std::string_view name);

}  // namespace aexd
