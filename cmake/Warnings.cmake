# Warnings are errors in our own code only; third-party headers are included as
# system headers so their warnings do not stop the build. -Wnull-dereference is
# left out: at -O2 GCC 12 reports false positives inside Asio's inlined code.
# So is -Wmismatched-new-delete (GCC only): at -O2 GCC 12 pairs a coroutine
# frame's delete with the wrong new (Asio's awaitable frames have their own
# operator new and delete) and reports a mismatch that is not there, in any
# file with a coroutine that awaits in a loop or a branch.
function(parley_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough
    $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>
    -Werror)
endfunction()
