// SPDX-License-Identifier: MIT
// Issue 10 finding 3: no fd the device maps can take it down by shrinking (SIGBUS).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "buffers/fd_seals.h"
#include "buffers/frame_writer.h"
#include "buffers/guest_memory.h"
#include "buffers/guest_pages.h"
#include "buffers/mapped_fd_memory.h"
#include "buffers/output_path.h"
#include "buffers/sigbus_guard.h"
#include "vdec/base/mapped_region.h"

namespace vdec::buffers {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kBase = 0x100000;

enum class Seal { kSealed, kSealableUnsealed, kUnsealable };

UniqueFd makeMemfd(uint64_t size, Seal seal) {
  const unsigned flags = MFD_CLOEXEC | (seal == Seal::kUnsealable ? 0 : MFD_ALLOW_SEALING);
  UniqueFd fd(::memfd_create("vdec-sigbus-test", flags));
  EXPECT_TRUE(fd.isValid());
  EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
  if (seal == Seal::kSealed) {
    EXPECT_EQ(::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK), 0);
  }
  return fd;
}

std::vector<GuestMemoryRegionSpec> region(UniqueFd fd, uint64_t size) {
  std::vector<GuestMemoryRegionSpec> specs;
  specs.push_back({kBase, size, 0x7f0000000000ull, 0, std::move(fd)});
  return specs;
}

TEST(SigbusGuardTest, CopyFromATruncatedMappingFailsInsteadOfKilling) {
  UniqueFd fd = makeMemfd(4 * kPage, Seal::kUnsealable);
  auto mapping = MappedRegion::map(fd.get(), 4 * kPage, 0);
  ASSERT_TRUE(mapping.has_value());
  std::vector<std::byte> buffer(2 * kPage);
  EXPECT_TRUE(guardedCopy(buffer.data(), mapping->data() + kPage, 2 * kPage));
  ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(kPage)), 0);
  const uint64_t faults = guardedFaults();
  EXPECT_FALSE(guardedCopy(buffer.data(), mapping->data() + kPage, 2 * kPage));  // read
  EXPECT_FALSE(guardedCopy(mapping->data() + 2 * kPage, buffer.data(), 16));     // write
  uint16_t index = 0;
  EXPECT_FALSE(guardedLoad16(mapping->data() + 3 * kPage, &index));
  EXPECT_FALSE(guardedStore16(mapping->data() + 3 * kPage, 1));
  EXPECT_EQ(guardedFaults(), faults + 4);
  EXPECT_TRUE(guardedCopy(buffer.data(), mapping->data(), 64));  // what is left still works
}

TEST(FdSealsTest, Policy) {
  auto sealed = checkShrinkSeal(makeMemfd(kPage, Seal::kSealed).get(), "t");
  ASSERT_TRUE(sealed.has_value());
  EXPECT_TRUE(*sealed);
  auto unsealable = checkShrinkSeal(makeMemfd(kPage, Seal::kUnsealable).get(), "t");
  ASSERT_TRUE(unsealable.has_value());
  EXPECT_FALSE(*unsealable);
  auto refused = checkShrinkSeal(makeMemfd(kPage, Seal::kSealableUnsealed).get(), "t");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidParameter);
}

TEST(GuestMemorySealTest, RefusesAMemfdThatCouldBeSealedButIsNot) {
  auto memory =
      GuestMemory::create(region(makeMemfd(kPage * 16, Seal::kSealableUnsealed), kPage * 16));
  ASSERT_FALSE(memory.has_value());
  EXPECT_NE(memory.error().message.find("F_SEAL_SHRINK"), std::string::npos);
  auto sealed = GuestMemory::create(region(makeMemfd(kPage * 16, Seal::kSealed), kPage * 16));
  ASSERT_TRUE(sealed.has_value());
  EXPECT_TRUE((*sealed)->sealed());
}

// Unsealable guest RAM (a memfd without MFD_ALLOW_SEALING stands for a tmpfs/hugetlbfs file)
// is served, but truncating it turns accesses into errors: the daemon used to die of SIGBUS.
TEST(GuestMemorySealTest, TruncatedUnsealableRamFailsTheResourceNotTheDaemon) {
  UniqueFd fd = makeMemfd(kPage * 16, Seal::kUnsealable);
  UniqueFd frontEndCopy(::dup(fd.get()));
  auto memory = GuestMemory::create(region(std::move(fd), kPage * 16));
  ASSERT_TRUE(memory.has_value()) << memory.error().message;
  EXPECT_FALSE((*memory)->sealed());
  auto pages = GuestPages::create(
      *memory, {{GuestAddress{kBase}, 2 * kPage}, {GuestAddress{kBase + 8 * kPage}, kPage}},
      1 << 20);
  ASSERT_TRUE(pages.has_value());
  EXPECT_FALSE((*pages)->sigbusSafe());
  EXPECT_TRUE((*pages)->contiguous().empty());  // no raw mapping for anyone to fault on
  std::vector<std::byte> data(3 * kPage, std::byte{7});
  EXPECT_TRUE((*pages)->write(0, data).has_value());
  ASSERT_EQ(::ftruncate(frontEndCopy.get(), 0), 0);
  EXPECT_FALSE((*pages)->write(0, data).has_value());
  EXPECT_FALSE((*pages)->read(0, data).has_value());

  // The bounce writer fails with an error too, and the output path never picks direct.
  auto layout = computeFrameLayout(PixelFormat::kNv12, 64, 32, {0, 0, 64, 32});
  ASSERT_TRUE(layout.has_value());
  std::vector<uint8_t> y(64 * 32), u(32 * 16), v(32 * 16);
  PlanarPicture picture{{y.data(), u.data(), v.data()}, {64, 32, 32}, 64, 32};
  EXPECT_FALSE(writePicture(**pages, *layout, picture).has_value());
  OutputPathPolicy policy;
  policy.strideAlign = 1;
  const OutputPathDecision decision = decideOutputPath(**pages, *layout, policy);
  EXPECT_EQ(decision.path, OutputPath::kBounce);
  EXPECT_NE(decision.reason.find("not sealed"), std::string::npos) << decision.reason;
}

// Finding 3 as attacked: a virtio object memfd, answered to SHARED_OBJECT_LOOKUP, truncated
// afterwards.
TEST(MappedFdMemorySealTest, ObjectMemfdsMustBeSealedOrAreGuarded) {
  auto refused = MappedFdMemory::create(makeMemfd(4 * kPage, Seal::kSealableUnsealed), 0, 1 << 20);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidParameter);

  auto sealed = MappedFdMemory::create(makeMemfd(4 * kPage, Seal::kSealed), 0, 1 << 20);
  ASSERT_TRUE(sealed.has_value());
  EXPECT_TRUE((*sealed)->sigbusSafe());
  EXPECT_EQ((*sealed)->contiguous().size(), 4 * kPage);

  UniqueFd fd = makeMemfd(4 * kPage, Seal::kUnsealable);
  UniqueFd frontEndCopy(::dup(fd.get()));
  auto guarded = MappedFdMemory::create(std::move(fd), 0, 1 << 20);
  ASSERT_TRUE(guarded.has_value()) << guarded.error().message;
  EXPECT_FALSE((*guarded)->sigbusSafe());
  EXPECT_TRUE((*guarded)->contiguous().empty());
  std::vector<std::byte> data(4 * kPage);
  EXPECT_TRUE((*guarded)->read(0, data).has_value());
  ASSERT_EQ(::ftruncate(frontEndCopy.get(), 0), 0);
  EXPECT_FALSE((*guarded)->read(0, data).has_value());
  EXPECT_FALSE((*guarded)->write(0, data).has_value());
}

}  // namespace
}  // namespace vdec::buffers
