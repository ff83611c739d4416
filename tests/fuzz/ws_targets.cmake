# The WebSocket-frame and JSON-body fuzz targets: include() this from
# tests/fuzz/CMakeLists.txt once parley_add_fuzzer(name source) is defined.
# Seed corpora: corpus/fuzz_json_body/ and corpus/fuzz_ws_frame/ (a seed per
# frame type, and malformed ones).
#
# Built by hand, without the preset (what was run before these were added):
#   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iserver/src \
#     tests/fuzz/fuzz_ws_frame.cpp server/src/core/{ijson,error,validation}.cpp \
#     server/src/http/{json_body,message}.cpp server/src/ws/frame_handlers.cpp \
#     server/src/messaging/messages.cpp server/src/api/views.cpp server/src/events/emit.cpp \
#     -lboost_json -lfmt -o fuzz_ws_frame
#   ./fuzz_ws_frame -max_total_time=60 -max_len=4096 <copy of corpus/fuzz_ws_frame>
parley_add_fuzzer(fuzz_json_body ${CMAKE_CURRENT_LIST_DIR}/fuzz_json_body.cpp)
parley_add_fuzzer(fuzz_ws_frame ${CMAKE_CURRENT_LIST_DIR}/fuzz_ws_frame.cpp)
