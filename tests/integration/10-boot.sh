# Booting Debian's kernel: what the guest sees of its CPUs, memory, clock,
# command line and firmware tables.  Several checks share one boot: boots
# are the expensive part under the box's emulation.

# The guest prints KEY=value lines; this script is appended to the initrd.
facts_script() {
	cat > "$T/facts.sh" <<'SCRIPT'
echo CPUS=$(nproc)
echo MEMKB=$(awk '/MemTotal/ {print $2}' /proc/meminfo)
echo CLOCK=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
echo CMDLINE=$(cat /proc/cmdline)
echo HIGHRAM=$(grep -c '^1[0-9a-f]\{8\}-.*System RAM' /proc/iomem)
echo HOSTTIME_GUEST=$(date +%s)
echo RTC=$(hwclock -r -f /dev/rtc0 >/dev/null 2>&1 && echo ok)
# Warnings or errors from firmware tables and platform devices.
echo BADLOG=$(dmesg -r | grep -E '^<[0-4]>' | grep -ciE 'acpi|pci|8250|serial|rtc|apic|e820|checksum')
dmesg -r | grep -E '^<[0-4]>' | grep -iE 'acpi|pci|8250|serial|rtc|apic|e820|checksum' | sed 's/^/BADLINE: /'
echo CLOCKEVENT=$(cat /sys/devices/system/clockevents/clockevent0/current_device)
echo TSCDEADLINE=$(grep -c tsc_deadline_timer /proc/cpuinfo)
echo HWRNG=$(cat /sys/class/misc/hw_random/rng_current) $(head -c 65536 /dev/hwrng | wc -c)
# The virtio driver took the port I/O notification structure (BAR 2).
echo PIONOTIFY=$(grep -c 'virtio-pci-modern' /proc/ioports)
SCRIPT
	script_initrd "$GUEST_INITRD" "$T/facts.sh"
}

test_one_vcpu_256m() {
	local log=$T/log rc initrd now guest
	initrd=$(facts_script)
	guest_run "$log" --kernel "$GUEST_BZIMAGE" --initrd "$initrd" --append "sardine.marker=xyzzy42"
	rc=$?
	now=$(date +%s)
	expect_clean_run "$log" "$rc" || return 1
	[ "$(guest_value "$log" CPUS)" = 1 ] || fail "CPUs: $(guest_value "$log" CPUS)" || return 1
	local mem=$(guest_value "$log" MEMKB)
	[ "$mem" -gt 200000 ] && [ "$mem" -le 262144 ] || fail "MemTotal $mem kB for 256M" || return 1
	[ "$(guest_value "$log" CLOCK)" = kvm-clock ] || fail "clocksource $(guest_value "$log" CLOCK)" || return 1
	guest_value "$log" CMDLINE | grep -q 'sardine.marker=xyzzy42' || fail "command line lost" || return 1
	[ "$(guest_value "$log" RTC)" = ok ] || fail "hwclock cannot read the RTC" || return 1
	# The LAPIC timer in TSC-deadline mode drives the guest's clock events.
	[ "$(guest_value "$log" CLOCKEVENT)" = lapic-deadline ] ||
		fail "clock events from $(guest_value "$log" CLOCKEVENT)" || return 1
	[ "$(guest_value "$log" HWRNG)" = "virtio_rng.0 65536" ] ||
		fail "/dev/hwrng: $(guest_value "$log" HWRNG)" || return 1
	[ "$(guest_value "$log" PIONOTIFY)" -ge 1 ] ||
		fail "no virtio port I/O notification region in /proc/ioports" || return 1
	guest=$(guest_value "$log" HOSTTIME_GUEST)
	[ $((now - guest)) -lt 600 ] && [ $((guest - now)) -lt 60 ] ||
		fail "guest wall clock $guest, host $now" || return 1
	[ "$(guest_value "$log" BADLOG)" = 0 ] || fail "platform warnings: $(grep BADLINE "$log")"
}

test_four_vcpus_4g_split_around_hole() {
	local log=$T/log rc initrd mem
	initrd=$(facts_script)
	guest_run "$log" --kernel "$GUEST_BZIMAGE" --initrd "$initrd" --cpus 4 --memory 4G
	rc=$?
	expect_clean_run "$log" "$rc" || return 1
	[ "$(guest_value "$log" CPUS)" = 4 ] || fail "CPUs: $(guest_value "$log" CPUS)" || return 1
	mem=$(guest_value "$log" MEMKB)
	[ "$mem" -gt 3900000 ] && [ "$mem" -le 4194304 ] || fail "MemTotal $mem kB for 4G" || return 1
	[ "$(guest_value "$log" HIGHRAM)" -ge 1 ] || fail "no RAM above 4 GiB in /proc/iomem" || return 1
	[ "$(guest_value "$log" BADLOG)" = 0 ] || fail "platform warnings: $(grep BADLINE "$log")"
}

test_eight_vcpus_on_two_cores_128m() {
	local log=$T/log rc initrd mem
	initrd=$(facts_script)
	guest_run "$log" --initrd "$initrd" --cpus 8 --memory 128M
	rc=$?
	expect_clean_run "$log" "$rc" || return 1
	[ "$(guest_value "$log" CPUS)" = 8 ] || fail "CPUs: $(guest_value "$log" CPUS)" || return 1
	mem=$(guest_value "$log" MEMKB)
	[ "$mem" -gt 65536 ] && [ "$mem" -le 131072 ] || fail "MemTotal $mem kB for 128M"
}
