#define LOG_TAG "rtc"
#include "hw/rtc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/vm.h"

enum {
	RTC_SECONDS = 0x00,
	RTC_MINUTES = 0x02,
	RTC_HOURS = 0x04,
	RTC_DAY_OF_WEEK = 0x06,
	RTC_DAY_OF_MONTH = 0x07,
	RTC_MONTH = 0x08,
	RTC_YEAR = 0x09,
	RTC_REG_A = 0x0a,
	RTC_REG_B = 0x0b,
	RTC_REG_C = 0x0c,
	RTC_REG_D = 0x0d,
	RTC_CENTURY = 0x32, /* named by the FADT's CENTURY field */
};

#define REG_A_UIP 0x80
#define REG_B_SET 0x80
#define REG_B_BINARY 0x04
#define REG_B_24H 0x02
#define REG_D_VRT 0x80

static uint8_t to_bcd(const struct rtc_state *s, int v)
{
	if (s->cmos[RTC_REG_B] & REG_B_BINARY)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int from_bcd(const struct rtc_state *s, uint8_t v)
{
	if (s->cmos[RTC_REG_B] & REG_B_BINARY)
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t encode_hours(const struct rtc_state *s, int hour)
{
	uint8_t pm = 0;

	if (!(s->cmos[RTC_REG_B] & REG_B_24H)) {
		pm = hour >= 12 ? 0x80 : 0;
		hour %= 12;
		if (hour == 0)
			hour = 12;
	}
	return to_bcd(s, hour) | pm;
}

static int decode_hours(const struct rtc_state *s, uint8_t v)
{
	int hour = from_bcd(s, v & 0x7f);

	if (!(s->cmos[RTC_REG_B] & REG_B_24H)) {
		hour %= 12;
		if (v & 0x80)
			hour += 12;
	}
	return hour;
}

/* Refresh the time registers from the host clock (unless the guest is
 * setting the time). */
static void latch_time(struct rtc_state *s)
{
	struct timespec now;
	struct tm tm;
	time_t t;

	if (s->cmos[RTC_REG_B] & REG_B_SET)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	t = now.tv_sec + s->offset_sec;
	gmtime_r(&t, &tm);
	s->cmos[RTC_SECONDS] = to_bcd(s, tm.tm_sec);
	s->cmos[RTC_MINUTES] = to_bcd(s, tm.tm_min);
	s->cmos[RTC_HOURS] = encode_hours(s, tm.tm_hour);
	s->cmos[RTC_DAY_OF_WEEK] = to_bcd(s, tm.tm_wday + 1);
	s->cmos[RTC_DAY_OF_MONTH] = to_bcd(s, tm.tm_mday);
	s->cmos[RTC_MONTH] = to_bcd(s, tm.tm_mon + 1);
	s->cmos[RTC_YEAR] = to_bcd(s, tm.tm_year % 100);
	s->cmos[RTC_CENTURY] = to_bcd(s, (tm.tm_year + 1900) / 100);
	/* "Update in progress" during the last 244 us of each second, as the
	 * hardware does: drivers wait for it to clear before reading. */
	if (now.tv_nsec >= 1000000000L - 244000L)
		s->cmos[RTC_REG_A] |= REG_A_UIP;
	else
		s->cmos[RTC_REG_A] &= (uint8_t)~REG_A_UIP;
}

/* The guest finished setting the clock: remember its offset from ours. */
static void commit_time(struct rtc_state *s)
{
	struct tm tm = { 0 };
	time_t guest;

	tm.tm_sec = from_bcd(s, s->cmos[RTC_SECONDS]);
	tm.tm_min = from_bcd(s, s->cmos[RTC_MINUTES]);
	tm.tm_hour = decode_hours(s, s->cmos[RTC_HOURS]);
	tm.tm_mday = from_bcd(s, s->cmos[RTC_DAY_OF_MONTH]);
	tm.tm_mon = from_bcd(s, s->cmos[RTC_MONTH]) - 1;
	tm.tm_year = from_bcd(s, s->cmos[RTC_CENTURY]) * 100 + from_bcd(s, s->cmos[RTC_YEAR]) - 1900;
	guest = timegm(&tm);
	if (guest != (time_t)-1)
		s->offset_sec = (int64_t)guest - (int64_t)time(NULL);
}

static void rtc_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int len)
{
	struct rtc *rtc = opaque;
	struct rtc_state *s = &rtc->s;

	memset(data, 0xff, len);
	if (offset != 1)
		return; /* the index port is write only */
	pthread_mutex_lock(&rtc->lock);
	if (s->index <= RTC_REG_A || s->index == RTC_CENTURY)
		latch_time(s);
	data[0] = s->cmos[s->index];
	if (s->index == RTC_REG_C)
		s->cmos[RTC_REG_C] = 0; /* interrupt flags clear on read */
	pthread_mutex_unlock(&rtc->lock);
}

static void rtc_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int len)
{
	struct rtc *rtc = opaque;
	struct rtc_state *s = &rtc->s;
	uint8_t v = data[0];

	pthread_mutex_lock(&rtc->lock);
	if (offset == 0) {
		s->index = v & 0x7f; /* bit 7 is the NMI mask */
	} else {
		switch (s->index) {
		case RTC_REG_A:
			s->cmos[RTC_REG_A] = (v & 0x7f) | (s->cmos[RTC_REG_A] & REG_A_UIP);
			break;
		case RTC_REG_B: {
			bool was_set = s->cmos[RTC_REG_B] & REG_B_SET;

			/* No periodic/alarm/update interrupts: keep those bits clear. */
			s->cmos[RTC_REG_B] = v & (uint8_t)~0x70;
			if (was_set && !(v & REG_B_SET))
				commit_time(s);
			break;
		}
		case RTC_REG_C:
		case RTC_REG_D:
			break; /* read only */
		default:
			s->cmos[s->index] = v;
			/* A time register written outside SET mode takes effect now. */
			if (s->index <= RTC_YEAR && !(s->cmos[RTC_REG_B] & REG_B_SET))
				commit_time(s);
			break;
		}
	}
	pthread_mutex_unlock(&rtc->lock);
}

static const struct bus_ops rtc_ops = {
	.read = rtc_read,
	.write = rtc_write,
};

int rtc_create(struct rtc **out, struct vm *vm, uint16_t port)
{
	struct rtc *rtc = calloc(1, sizeof(*rtc));
	int ret;

	if (!rtc)
		return -ENOMEM;
	pthread_mutex_init(&rtc->lock, NULL);
	rtc->vm = vm;
	rtc->port = port;
	rtc->s.cmos[RTC_REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz rate */
	rtc->s.cmos[RTC_REG_B] = REG_B_24H;
	rtc->s.cmos[RTC_REG_D] = REG_D_VRT; /* battery good */
	ret = bus_register(&vm->pio, port, 2, &rtc_ops, rtc);
	if (ret) {
		free(rtc);
		return ret;
	}
	*out = rtc;
	return 0;
}

void rtc_destroy(struct rtc *rtc)
{
	if (!rtc)
		return;
	bus_unregister(&rtc->vm->pio, rtc->port, rtc);
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}
