# Warnings are errors in our own code only; third-party headers are included as
# system headers so their warnings do not stop the build. -Wnull-dereference is
# left out: at -O2 GCC 12 reports false positives inside Asio's inlined code.
function(parley_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough
    -Werror)
endfunction()
