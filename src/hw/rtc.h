/* The MC146818 CMOS real-time clock at ports 0x70/0x71: wall-clock time
 * for the guest (from the host clock, plus whatever offset the guest sets)
 * and 128 bytes of CMOS RAM. */
#ifndef SARDINE_RTC_H
#define SARDINE_RTC_H

#include <pthread.h>
#include <stdint.h>

struct vm;

struct rtc_state {
	uint8_t index;
	uint8_t cmos[128];
	int64_t offset_sec; /* guest time minus host time */
};

struct rtc {
	struct rtc_state s;
	pthread_mutex_t lock;
	struct vm *vm;
	uint16_t port;
};

int rtc_create(struct rtc **out, struct vm *vm, uint16_t port);
void rtc_destroy(struct rtc *rtc);

#endif
