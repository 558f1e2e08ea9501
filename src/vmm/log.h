/* Logging: one line per event, tagged with the subsystem that reports it.
 *
 * Each .c file defines LOG_TAG before including this header.  The level is the
 * only process-wide mutable state in sardine: it is set once from the command
 * line before any thread starts, and read everywhere after. */
#ifndef SARDINE_LOG_H
#define SARDINE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_threshold;

int log_parse_level(const char *name, enum log_level *out);
/* Writes why something failed into err (errlen bytes) for the caller that
 * reports it, once, and returns ret (a -errno). */
int err_reason(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline bool log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

#define log_error(...) log_msg(LOG_ERROR, LOG_TAG, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, LOG_TAG, __VA_ARGS__)
#define log_info(...)                                                          \
	do {                                                                   \
		if (log_enabled(LOG_INFO))                                     \
			log_msg(LOG_INFO, LOG_TAG, __VA_ARGS__);               \
	} while (0)
#define log_debug(...)                                                         \
	do {                                                                   \
		if (log_enabled(LOG_DEBUG))                                    \
			log_msg(LOG_DEBUG, LOG_TAG, __VA_ARGS__);              \
	} while (0)

/* Rate limiting for guest-triggerable messages: at most `burst` lines per
 * interval of `interval_ms`, then one "suppressed N" line.  The state lives in
 * the device that owns it, never in a static. */
struct log_ratelimit {
	uint64_t window_start_ms;
	unsigned int printed;
	unsigned int suppressed;
};

bool log_ratelimit_allow(struct log_ratelimit *rl);

#define log_guest(rl, ...)                                                     \
	do {                                                                   \
		if (log_ratelimit_allow(rl))                                   \
			log_msg(LOG_WARN, LOG_TAG, __VA_ARGS__);               \
	} while (0)

#endif
