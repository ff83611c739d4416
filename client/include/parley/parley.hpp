// Everything of libparley's public interface: see account.hpp first.
#pragma once

#include "parley/account.hpp"
#include "parley/error.hpp"
#include "parley/types.hpp"
