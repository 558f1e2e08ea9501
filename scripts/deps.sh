#!/bin/sh
# Installs the Debian 12 packages sardine needs to build, test and
# benchmark (run as root; .ci/run calls it).  README.md says what each is for.
set -eu
export DEBIAN_FRONTEND=noninteractive
BUILD="build-essential pkg-config liburing-dev libseccomp-dev libjson-c-dev libmicrohttpd-dev"
TEST="libcmocka-dev clang llvm libclang-rt-14-dev python3 util-linux procps iproute2 curl kmod cpio e2fsprogs dmsetup"
GUEST="apt dpkg"
BOX="qemu-system-x86 qemu-utils"
BENCH="fio iperf3 bc busybox"
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $BUILD $TEST $GUEST $BOX $BENCH
