#include "domain/slug.h"

namespace aexd {

std::string slugify(std::string_view name) {
  std::string slug;
  slug.reserve(name.size());
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == ' ') c = '-';
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!keep || (c == '-' && (slug.empty() || slug.back() == '-'))) continue;
    slug += c;
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return slug;
}

}  // namespace aexd
