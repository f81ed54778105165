// SPDX-License-Identifier: MIT
// Udmabuf: every refusal is explained, also where /dev/udmabuf is missing; creation itself only
// runs where the device exists (UdmabufGpuTest.*, CTest label gpu).
#include "buffers/udmabuf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "buffers/va_dma_buf_resource.h"
#include "tests/fakes/guest_memory_fixture.h"

namespace vdec::buffers {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kSize = 1 << 20;

UniqueFd sealedMemfd(uint64_t size, int seals = F_SEAL_SHRINK) {
  UniqueFd fd(::memfd_create("udmabuf-test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  EXPECT_TRUE(fd.isValid());
  EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
  if (seals != 0) {
    EXPECT_EQ(::fcntl(fd.get(), F_ADD_SEALS, seals), 0);
  }
  return fd;
}

TEST(UdmabufTest, AvailabilityAndReasonAgree) {
  const std::string why = Udmabuf::unavailableReason();
  EXPECT_EQ(Udmabuf::isAvailable(), why.empty());
  if (!Udmabuf::isAvailable()) {
    EXPECT_THAT(why, HasSubstr(Udmabuf::kDevicePath));
  }
}

TEST(UdmabufTest, CreateWithoutTheDeviceSaysSo) {
  if (Udmabuf::isAvailable()) GTEST_SKIP() << Udmabuf::kDevicePath << " exists on this host";
  UniqueFd memfd = sealedMemfd(kSize);
  const UdmabufRange range{memfd.get(), 0, kSize};
  auto dmaBuf = Udmabuf::create({&range, 1});
  ASSERT_FALSE(dmaBuf.has_value());
  EXPECT_EQ(dmaBuf.error().code, ErrorCode::kUnsupported);
  EXPECT_THAT(dmaBuf.error().message, HasSubstr("/dev/udmabuf does not exist"));
}

TEST(UdmabufTest, RefusesUnalignedRanges) {
  UniqueFd memfd = sealedMemfd(kSize);
  const std::vector<UdmabufRange> bad = {{memfd.get(), 100, 4096}, {memfd.get(), 0, 4000}};
  for (const UdmabufRange& range : bad) {
    auto status = Udmabuf::checkRanges({&range, 1});
    ASSERT_FALSE(status.has_value());
    EXPECT_THAT(status.error().message, HasSubstr("not page-aligned"));
    // create() reports the range problem even without /dev/udmabuf.
    EXPECT_THAT(Udmabuf::create({&range, 1}).error().message, HasSubstr("not page-aligned"));
  }
}

TEST(UdmabufTest, RefusesWhatTheKernelWouldRefuse) {
  UniqueFd unsealed = sealedMemfd(kSize, 0);
  UniqueFd writeSealed = sealedMemfd(kSize, F_SEAL_SHRINK | F_SEAL_WRITE);
  UniqueFd good = sealedMemfd(kSize);
  int pipeFds[2];
  ASSERT_EQ(::pipe2(pipeFds, O_CLOEXEC), 0);
  UniqueFd pipeRead(pipeFds[0]), pipeWrite(pipeFds[1]);
  struct Case {
    UdmabufRange range;
    const char* why;
  };
  const std::vector<Case> cases = {
      {{unsealed.get(), 0, 4096}, "not sealed with F_SEAL_SHRINK"},
      {{writeSealed.get(), 0, 4096}, "sealed with F_SEAL_WRITE"},
      {{pipeRead.get(), 0, 4096}, "is not a memfd"},
      {{good.get(), kSize, 4096}, "beyond memfd"},
  };
  for (const Case& c : cases) {
    auto status = Udmabuf::checkRanges({&c.range, 1});
    ASSERT_FALSE(status.has_value()) << c.why;
    EXPECT_THAT(status.error().message, HasSubstr(c.why));
  }
  EXPECT_FALSE(Udmabuf::checkRanges({}).has_value());
  std::vector<UdmabufRange> many(Udmabuf::kMaxRanges + 1, UdmabufRange{good.get(), 0, 4096});
  EXPECT_THAT(Udmabuf::checkRanges(many).error().message, HasSubstr("at most"));
  const UdmabufRange fine{good.get(), 4096, 8192};
  EXPECT_TRUE(Udmabuf::checkRanges({&fine, 1}).has_value());
}

TEST(UdmabufTest, GuestRangesBecomeMemfdRangesMergedWhenAdjacent) {
  auto ram = vdec::testing::makeTestGuestMemory(kSize);
  const int fd = ram.memory->regions().front().fd.get();
  auto ranges = Udmabuf::rangesFor(*ram.memory, {{GuestAddress{ram.base + 0x1000}, 0x1000},
                                                 {GuestAddress{ram.base + 0x2000}, 0x2000},
                                                 {GuestAddress{ram.base + 0x8000}, 0x1000}});
  ASSERT_TRUE(ranges.has_value()) << ranges.error().message;
  ASSERT_EQ(ranges->size(), 2u);
  EXPECT_EQ((*ranges)[0].memfd, fd);
  EXPECT_EQ((*ranges)[0].offset, 0x1000u);
  EXPECT_EQ((*ranges)[0].size, 0x3000u);
  EXPECT_EQ((*ranges)[1].offset, 0x8000u);
  EXPECT_FALSE(Udmabuf::rangesFor(*ram.memory, {{GuestAddress{ram.base + kSize}, 4096}}));
}

TEST(UdmabufTest, GuestPagesResourceExplainsWhyItHasNoDmaBuf) {
  // Guest RAM that cannot be sealed (no MFD_ALLOW_SEALING): the device serves it (guarded),
  // but it cannot become a udmabuf.
  constexpr uint64_t kBase = 0x100000;
  UniqueFd fd(::memfd_create("udmabuf-test-unsealable", MFD_CLOEXEC));
  ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(kSize)), 0);
  std::vector<GuestMemoryRegionSpec> specs;
  specs.push_back({kBase, kSize, 0x7f0000000000ull, 0, std::move(fd)});
  auto memory = GuestMemory::create(std::move(specs));
  ASSERT_TRUE(memory.has_value()) << memory.error().message;
  const std::vector<GuestRange> ranges = {{GuestAddress{kBase}, 0x4000}};
  auto pages = GuestPages::create(*memory, ranges, kSize);
  ASSERT_TRUE(pages.has_value());
  auto resource = DmaBufResource::forGuestPages(std::move(*pages), *memory, ranges);
  EXPECT_EQ(resource->size(), 0x4000u);
  auto dmaBuf = resource->dmaBuf();
  ASSERT_FALSE(dmaBuf.has_value());
  // The memfd is not sealed; without the device that is reported first as well, since the
  // ranges are checked before /dev/udmabuf is opened.
  EXPECT_THAT(dmaBuf.error().message, HasSubstr("F_SEAL_SHRINK"));
  EXPECT_EQ(resource->dmaBuf().error().message, dmaBuf.error().message);  // not retried
  // The wrapper forwards the bytes.
  const std::byte value{0x5a};
  ASSERT_TRUE(resource->write(10, {&value, 1}).has_value());
  std::byte back{};
  ASSERT_TRUE(resource->read(10, {&back, 1}).has_value());
  EXPECT_EQ(back, value);
}

TEST(UdmabufTest, ObjectResourceReportsItsDmaBuf) {
  UniqueFd memfd = sealedMemfd(kSize);
  UniqueFd second = memfd.duplicate();
  auto ram = vdec::testing::makeTestGuestMemory(kSize);
  auto pages = GuestPages::create(ram.memory, {{GuestAddress{ram.base}, 4096}}, kSize);
  auto resource = DmaBufResource::forObject(std::move(*pages), std::move(second), 256);
  auto dmaBuf = resource->dmaBuf();
  ASSERT_TRUE(dmaBuf.has_value()) << dmaBuf.error().message;
  EXPECT_GE(dmaBuf->fd, 0);
  EXPECT_EQ(dmaBuf->size, kSize);
  EXPECT_EQ(dmaBuf->offset, 256u);
  EXPECT_EQ(dmaBuf->modifier, kDrmModifierLinear);
}

TEST(UdmabufGpuTest, CreatesADmaBufFromSealedMemfdRanges) {
  if (!Udmabuf::isAvailable()) GTEST_SKIP() << "udmabuf unavailable: " << Udmabuf::unavailableReason();
  UniqueFd memfd = sealedMemfd(kSize);
  const std::vector<UdmabufRange> ranges = {{memfd.get(), 0, 0x2000}, {memfd.get(), 0x8000, 0x1000}};
  auto dmaBuf = Udmabuf::create(ranges);
  ASSERT_TRUE(dmaBuf.has_value()) << dmaBuf.error().message;
  EXPECT_EQ(::lseek(dmaBuf->get(), 0, SEEK_END), 0x3000);
}

}  // namespace
}  // namespace vdec::buffers
