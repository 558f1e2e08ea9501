# sardine: a virtual machine monitor for Linux/KVM.
#
#   make            build build/sardine
#   make guest      build the test/default guest (kernel + initramfs) into build/guest
#   make run        build, then boot the default guest on this terminal
#                   (inside the box when this host's KVM cannot run it)
#   make test       unit tests on the host, real-guest tests on KVM or in the box
#   make asan       the same tests with AddressSanitizer + UBSan builds
#   make bench      benchmarks, side by side with QEMU (results in bench/results/)
#   make fuzz       build the libFuzzer targets into build/fuzz

VERSION   := 0.1.0
Q         := $(if $(V),,@)
BUILD     ?= build
CC        ?= cc
PKGS      := liburing libseccomp json-c libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
# libmicrohttpd and libseccomp are opened with dlopen() (src/api/mhd.c,
# src/vmm/sandbox.c): headers only at build time.  liburing and json-c are
# linked in statically: as shared objects every VM would carry ~90 KiB of
# their relocated pages, used or not (a VM without disks or API clients
# never runs their code).  Rebuild sardine when Debian updates them.
PKG_LIBS   := -Wl,-Bstatic $(shell pkg-config --libs liburing json-c) -Wl,-Bdynamic

WARN      := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wvla \
             -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
# OPT: optimisation and instrumentation (make asan overrides it).
OPT       ?= -O2 -g
CFLAGS    := $(OPT) -std=c11 -D_GNU_SOURCE $(WARN) -MMD -MP -Isrc $(PKG_CFLAGS) \
             -DSARDINE_VERSION='"$(VERSION)"' \
             -DSARDINE_GUEST_DIR='"$(abspath build/guest)"' \
             -fno-strict-aliasing -fstack-protector-strong
LDLIBS    += $(PKG_LIBS) -lpthread

SRCS      := $(shell find src -name '*.c' | sort)
OBJS      := $(SRCS:%.c=$(BUILD)/%.o)
LIB_OBJS  := $(filter-out $(BUILD)/src/cli/main.o,$(OBJS))

UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)

TINY_ASM   := $(filter-out tests/tiny/crt0.S,$(sort $(wildcard tests/tiny/*.S)))
TINY_C     := $(sort $(wildcard tests/tiny/*.c))
GUEST_BINS := $(TINY_ASM:tests/tiny/%.S=$(BUILD)/tiny/%.elf) $(TINY_C:tests/tiny/%.c=$(BUILD)/tiny/%.elf)
TINY_LD    := -m32 -nostdlib -static -Wl,-T,tests/tiny/tiny.ld -Wl,--build-id=none -Wl,--no-warn-rwx-segments

.PHONY: all guest run test unit integration asan bench fuzz clean tiny
all: $(BUILD)/sardine $(GUEST_BINS)

$(BUILD)/sardine: $(OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# Unit tests: cmocka, linked against every object but main.
$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(LDFLAGS) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS) -lcmocka

# Tiny hand-made guests (PVH ELF, 32-bit entry) for CPU/boot/exit tests.
$(BUILD)/tiny/%.elf: tests/tiny/%.S tests/tiny/tiny.ld tests/tiny/tiny.h
	@mkdir -p $(dir $@)
	@echo "  AS      $@"
	$(Q)$(CC) $(TINY_LD) -o $@ $<

# ... and in freestanding C, entered through tests/tiny/crt0.S.
$(BUILD)/tiny/%.elf: tests/tiny/%.c tests/tiny/crt0.S tests/tiny/tiny_c.h tests/tiny/tiny.ld
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(TINY_LD) -O2 -ffreestanding -fno-pic -fno-stack-protector -fno-builtin \
		-Wall -Wextra -Werror -o $@ tests/tiny/crt0.S $<

tiny: $(GUEST_BINS)

guest:
	tests/guest/build.sh build/guest

run: all guest
	tests/run-default-guest.sh $(BUILD)/sardine

unit: $(UNIT_BINS)
	tests/run-unit.sh $(UNIT_BINS)

test: all guest $(UNIT_BINS) fuzz
	tests/run-all.sh $(BUILD)

# ASan + UBSan build of everything, then the same suite against it.
asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" build/asan/sardine \
		$(patsubst $(BUILD)/%,build/asan/%,$(UNIT_BINS) $(GUEST_BINS))
	$(MAKE) guest fuzz
	SARDINE_SANITIZED=1 tests/run-all.sh build/asan

bench: all guest
	bench/run-all.sh $(BUILD)

fuzz:
	$(MAKE) -f tests/fuzz/Makefile

clean:
	rm -rf build/sardine build/src build/tests build/tiny build/asan build/fuzz

-include $(OBJS:.o=.d)
