// SQL of SqliteTransaction's media methods that a test checks the plan of.
#pragma once

#include <string_view>

namespace parley::storage::sqlite {

// media_shared_with: ?1 the media id, ?2 the reader. One row, one column:
// 1 when a message, a membership or an avatar shares the file with the reader.
extern const std::string_view kMediaSharedWithSql;

}  // namespace parley::storage::sqlite
