// Temporary folders for tests (a server's data folder, a command's output)
// that do not outlive the test run even when the test process is killed.
#pragma once

#include <filesystem>

namespace parley::test {

// Makes a fresh `parley-test-XXXXXX` folder under the system's temporary
// folder and records this process as its owner. A test killed by ctest's
// timeout (or by anything else) runs no destructor, and its folder, which
// may hold a gibibyte of media, would stay behind: so the first call in each
// test process also removes the folders whose owner process is gone.
// With PARLEY_TEST_KEEP set, no owner is recorded: the folder stays, to be
// looked at after a failure.
std::filesystem::path make_test_folder();

// Removes the `parley-test-*` folders in `parent` whose recorded owner is
// not a running process; folders without an owner record are left alone.
// Returns how many it removed.
int remove_abandoned_test_folders(const std::filesystem::path& parent);

}  // namespace parley::test
