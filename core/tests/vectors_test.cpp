// Runs the shared test vectors in core/testdata/*.json, the same files the TypeScript replica
// runs, so both implementations are held to one set of expected states.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fun_notes/core/codec.hpp"
#include "vector_names.hpp"

namespace fun_notes::core {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

struct vector_case {
  std::string file;
  std::string type;  // "apply", "codec" or "codec_text"; "" when the file itself is broken
  std::string name;
  json::object body;
  std::string load_error;
  std::size_t index = 0;  // position in its file, so names stay put when other files grow
};

// Keeps GoogleTest from dumping the struct's bytes in test listings and failures.
void PrintTo(const vector_case& c, std::ostream* os) {
  *os << c.file << ": " << c.name;
}

std::string test_name(const vector_case& c) {
  return vector_test_name(fs::path{c.file}.stem().string(), c.index, c.name);
}

std::vector<vector_case> load_cases() {
  std::vector<vector_case> cases;
  for (const auto& [file, text] : vector_files(FUN_NOTES_TESTDATA_DIR)) {
    // Read with the same parser the server uses, so indexes are correctly rounded.
    const auto doc = parse_json(text);
    if (!doc.ok() || !doc->is_object()) {
      cases.push_back({file, "", "load", {}, doc.ok() ? "not an object" : doc.err().message});
      continue;
    }
    const json::object& root = doc->as_object();
    const json::value* type = root.if_contains("type");
    const json::value* list = root.if_contains("cases");
    if (type == nullptr || !type->is_string() || list == nullptr || !list->is_array() ||
        list->as_array().empty()) {
      cases.push_back({file, "", "load", {}, "needs a string \"type\" and a non-empty \"cases\""});
      continue;
    }
    const std::size_t first = cases.size();
    for (const auto& c : list->as_array()) {
      const json::value* name = c.is_object() ? c.as_object().if_contains("name") : nullptr;
      if (name == nullptr || !name->is_string()) {
        cases.push_back({file, "", "load", {}, "a case without a string \"name\""});
        continue;
      }
      cases.push_back({file, std::string{type->as_string()}, std::string{name->as_string()},
                       c.as_object(), "", cases.size() - first});
    }
  }
  return cases;
}

const std::vector<vector_case>& all_cases() {
  static const std::vector<vector_case> cases = load_cases();
  return cases;
}

// A state in the vector format {"seq":S,"notes":[Note...]}.
room_state state_from(const json::value& v, std::vector<note>* listed = nullptr) {
  const json::object& o = v.as_object();
  std::vector<note> notes;
  for (const auto& n : o.at("notes").as_array()) {
    auto parsed = parse_note(n);
    EXPECT_TRUE(parsed.ok()) << parsed.err().message << " in " << json::serialize(n);
    if (parsed.ok()) {
      notes.push_back(*parsed);
    }
  }
  if (listed != nullptr) {
    *listed = notes;
  }
  return room_state{o.at("seq").to_number<std::int64_t>(), std::move(notes)};
}

void run_apply(const json::object& c) {
  room_state state = state_from(c.at("initial"));
  std::int64_t last_seq = state.seq();
  for (const auto& entry : c.at("ops").as_array()) {
    const json::object& e = entry.as_object();
    const std::int64_t seq = e.at("seq").to_number<std::int64_t>();
    ASSERT_GT(seq, last_seq) << "ops must be listed in increasing seq order";
    last_seq = seq;
    auto parsed = parse_op(e.at("op"));
    ASSERT_TRUE(parsed.ok()) << "seq " << seq << ": " << parsed.err().message;
    state.apply(applied_op{seq, std::string{e.at("at").as_string()}, std::move(*parsed)});
  }
  std::vector<note> listed;
  const room_state expected = state_from(c.at("expected"), &listed);
  // The file lists expected notes in display order so a replica may compare lists directly.
  EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end(), display_less))
      << "expected.notes is not sorted by (current_index, id)";
  EXPECT_EQ(listed.size(), expected.size()) << "expected.notes repeats an id";
  EXPECT_EQ(state.sorted_notes(), expected.sorted_notes());
  EXPECT_EQ(serialize_state(state), serialize_state(expected));
}

void check_codec(const json::value& input, const json::object& c) {
  const json::value& want = c.at("error");
  const auto parsed = parse_op(input);
  if (!want.is_null()) {
    ASSERT_FALSE(parsed.ok()) << "accepted " << json::serialize(input);
    EXPECT_EQ(parsed.err().code, want.as_string()) << parsed.err().message;
    return;
  }
  ASSERT_TRUE(parsed.ok()) << parsed.err().message;
  const json::value* output = c.if_contains("output");
  const json::value& canonical = output != nullptr ? *output : input;
  const auto expected = parse_op(canonical);
  ASSERT_TRUE(expected.ok()) << "output does not parse: " << expected.err().message;
  EXPECT_EQ(*parsed, *expected);
  // Byte-compare through Boost's serializer so number spellings (1024 vs 1024.0) don't matter.
  EXPECT_EQ(json::serialize(to_json(*parsed)), json::serialize(to_json(*expected)));
  // The canonical form carries exactly the wire fields, in the canonical order.
  EXPECT_EQ(to_json(*parsed).size(), canonical.as_object().size());
}

class shared_vectors : public testing::TestWithParam<vector_case> {};

TEST_P(shared_vectors, Passes) {
  const vector_case& c = GetParam();
  ASSERT_TRUE(c.load_error.empty()) << c.file << ": " << c.load_error;
  SCOPED_TRACE(c.file + ": " + c.name);
  if (c.type == "apply") {
    run_apply(c.body);
  } else if (c.type == "codec") {
    check_codec(c.body.at("input"), c.body);
  } else if (c.type == "codec_text") {
    const auto input = parse_json(c.body.at("text").as_string());
    if (!input.ok()) {
      EXPECT_EQ(c.body.at("error"), json::value("invalid")) << input.err().message;
      return;
    }
    check_codec(*input, c.body);
  } else {
    FAIL() << "unknown vector type \"" << c.type << "\"";
  }
}

INSTANTIATE_TEST_SUITE_P(core_testdata, shared_vectors, testing::ValuesIn(all_cases()),
                         [](const testing::TestParamInfo<vector_case>& info) {
                           return test_name(info.param);
                         });

TEST(SharedVectors, ThereAreEnoughApplyCases) {
  const auto& cases = all_cases();
  const auto apply = std::count_if(cases.begin(), cases.end(),
                                   [](const vector_case& c) { return c.type == "apply"; });
  EXPECT_GE(apply, 25) << "core/testdata lost its apply vectors";
}

}  // namespace
}  // namespace fun_notes::core
