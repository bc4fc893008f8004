// A parser of the Prometheus text exposition format (version 0.0.4), enough to read aexd's /metrics:
// sample lines `name{label="value",...} value`, comments skipped. Malformed lines fail the test.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace aexd::test {

using Labels = std::map<std::string, std::string>;

struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

class Scrape {
 public:
  explicit Scrape(const std::string& text) {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] == '#') continue;
      auto sample = parse(line);
      REQUIRE_MESSAGE(sample.has_value(), "not a Prometheus sample line: " << line);
      samples_.push_back(std::move(*sample));
    }
  }

  /// The sample named `name` whose labels are exactly `labels`, if there is one.
  std::optional<double> find(const std::string& name, const Labels& labels = {}) const {
    for (const auto& s : samples_)
      if (s.name == name && s.labels == labels) return s.value;
    return std::nullopt;
  }
  /// As find(), failing the test when there is no such sample.
  double value(const std::string& name, const Labels& labels = {}) const {
    auto found = find(name, labels);
    REQUIRE_MESSAGE(found.has_value(), "no sample " << name << describe(labels));
    return *found;
  }
  const std::vector<Sample>& samples() const { return samples_; }

 private:
  static std::string describe(const Labels& labels) {
    std::string out = "{";
    for (const auto& [k, v] : labels) out += k + "=\"" + v + "\",";
    return out + "}";
  }

  static std::optional<Sample> parse(const std::string& line) {
    Sample s;
    size_t i = line.find_first_of("{ ");
    if (i == std::string::npos || i == 0) return std::nullopt;
    s.name = line.substr(0, i);
    if (line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') return std::nullopt;
        const std::string key = line.substr(i, eq - i);
        std::string value;
        for (i = eq + 2; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
        }
        if (i >= line.size()) return std::nullopt;
        s.labels[key] = value;
        ++i;  // the closing quote
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return std::nullopt;
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') return std::nullopt;
    const std::string number = line.substr(i + 1, line.find(' ', i + 1) - i - 1);
    if (number == "+Inf") {
      s.value = INFINITY;
    } else if (number == "-Inf") {
      s.value = -INFINITY;
    } else {
      char* end = nullptr;
      s.value = std::strtod(number.c_str(), &end);
      if (number.empty() || *end != '\0') return std::nullopt;
    }
    return s;
  }

  std::vector<Sample> samples_;
};

}  // namespace aexd::test
