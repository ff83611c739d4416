#include "input_command.hpp"

#include <gtest/gtest.h>

namespace parley::cli {
namespace {

template <typename T>
T as(const InputCommand& command) {
  EXPECT_TRUE(std::holds_alternative<T>(command)) << "variant index " << command.index();
  if (!std::holds_alternative<T>(command)) return T{};
  return std::get<T>(command);
}

TEST(InputCommand, PlainTextIsAMessage) {
  EXPECT_EQ(as<SendText>(parse_input("hello /there")).text, "hello /there");
  EXPECT_EQ(as<SendText>(parse_input("//not a command")).text, "/not a command");
  as<Nothing>(parse_input("   "));
  as<Nothing>(parse_input(""));
}

TEST(InputCommand, NumberedCommands) {
  const auto& edit = as<EditMessage>(parse_input("/edit 12 fixed  text"));
  EXPECT_EQ(edit.number, 12);
  EXPECT_EQ(edit.text, "fixed  text");
  const auto& reply = as<ReplyTo>(parse_input("/reply #3 yes"));
  EXPECT_EQ(reply.number, 3);
  EXPECT_EQ(reply.text, "yes");
  const auto& react = as<React>(parse_input("/react 4 👍"));
  EXPECT_EQ(react.number, 4);
  EXPECT_EQ(react.emoji, "👍");
  EXPECT_EQ(as<DeleteMessage>(parse_input("/delete 9")).number, 9);
  const auto& download = as<Download>(parse_input("/download 7 /tmp/x"));
  EXPECT_EQ(download.number, 7);
  EXPECT_EQ(download.directory, "/tmp/x");
  EXPECT_EQ(as<Download>(parse_input("/download 7")).directory, "");
}

TEST(InputCommand, BadNumbersAndMissingTextAreRefusedWithUsage) {
  for (const char* line : {"/edit x hi", "/edit 0 hi", "/edit -1 hi", "/edit 5", "/reply 2", "/react 3", "/react 3 a b",
                           "/delete", "/delete 2 3", "/download", "/edit 99999999999999999999 x"}) {
    const auto& invalid = as<Invalid>(parse_input(line));
    EXPECT_NE(invalid.message.find("usage:"), std::string::npos) << line;
  }
}

TEST(InputCommand, UserCommands) {
  EXPECT_EQ(as<Invite>(parse_input("/invite @bob")).username, "bob");
  EXPECT_EQ(as<AcceptInvitation>(parse_input("/accept bob")).username, "bob");
  EXPECT_EQ(as<DeclineInvitation>(parse_input("/decline  carol ")).username, "carol");
  as<Invalid>(parse_input("/invite"));
  as<Invalid>(parse_input("/invite a b"));
  as<Invalid>(parse_input("/accept @"));
  EXPECT_EQ(as<OpenConversation>(parse_input("/open Team chat")).name, "Team chat");
  const auto& group = as<CreateGroup>(parse_input("/group team @bob carol"));
  EXPECT_EQ(group.name, "team");
  EXPECT_EQ(group.members, (std::vector<std::string>{"bob", "carol"}));
}

TEST(InputCommand, FileExpandsHome) {
  setenv("HOME", "/home/me", 1);
  EXPECT_EQ(as<SendFile>(parse_input("/file ~/a b.txt")).path, "/home/me/a b.txt");
  as<Invalid>(parse_input("/file"));
}

TEST(InputCommand, UnknownCommandSaysHowToSendASlash) {
  const auto& invalid = as<Invalid>(parse_input("/frobnicate"));
  EXPECT_NE(invalid.message.find("unknown command /frobnicate"), std::string::npos);
  as<Quit>(parse_input("/quit"));
  as<Help>(parse_input("/help"));
}

TEST(InputCommand, SearchWordsBecomePrefixes) {
  EXPECT_EQ(prefix_query("rep  notes"), "rep* notes*");
  EXPECT_EQ(prefix_query("café"), "café*");
  EXPECT_EQ(prefix_query("e-mail"), "\"e-mail\"");
  EXPECT_EQ(prefix_query("\"exact phrase\""), "\"exact phrase\"");
  EXPECT_EQ(prefix_query("a OR b"), "a OR b");
  EXPECT_EQ(prefix_query("pre*"), "pre*");
}

}  // namespace
}  // namespace parley::cli

namespace parley::cli {
namespace {

TEST(InputCommand, MuteUnmuteAndSticker) {
  auto mute = parse_input("/mute");
  ASSERT_TRUE(std::holds_alternative<Mute>(mute));
  EXPECT_EQ(std::get<Mute>(mute).hours, 0);
  EXPECT_EQ(std::get<Mute>(parse_input("/mute 8")).hours, 8);
  EXPECT_TRUE(std::holds_alternative<Invalid>(parse_input("/mute soon")));
  EXPECT_TRUE(std::holds_alternative<Invalid>(parse_input("/mute 1 2")));
  EXPECT_TRUE(std::holds_alternative<Unmute>(parse_input("/unmute")));
  EXPECT_TRUE(std::holds_alternative<Invalid>(parse_input("/unmute now")));
  EXPECT_EQ(std::get<SendSticker>(parse_input("/sticker 12")).id, 12);
  EXPECT_TRUE(std::holds_alternative<Invalid>(parse_input("/sticker")));
  EXPECT_TRUE(std::holds_alternative<Invalid>(parse_input("/sticker x")));
}

}  // namespace
}  // namespace parley::cli
