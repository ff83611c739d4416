# Warnings are errors in our own code only; third-party headers are included as
# system headers so their warnings do not stop the build. -Wnull-dereference is
# left out: at -O2 GCC 12 reports false positives inside Asio's inlined code.
# For the same reason -Wmismatched-new-delete is not an error: at -O2 GCC 12
# pairs Asio's coroutine frame operator new (aligned_alloc) with the frame's
# sized operator delete, which frees with the matching function, and stops the
# release build of any coroutine route.
function(parley_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough
    -Werror -Wno-error=mismatched-new-delete)
endfunction()
