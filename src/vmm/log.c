#include "vmm/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_threshold = LOG_WARN;

static const char *const level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

int log_parse_level(const char *name, enum log_level *out)
{
	for (unsigned int i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
{
	char line[1024];
	int n, saved_errno;
	va_list ap;

	if (!log_enabled(level))
		return;
	/* errno stays the caller's: `log_error(...); return -errno;` is common. */
	saved_errno = errno;
	n = snprintf(line, sizeof(line), "sardine: %s%s%s: ",
		     level <= LOG_WARN ? level_names[level] : "", level <= LOG_WARN ? ": " : "", tag);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		errno = saved_errno;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	/* One write() per line so lines from several threads never interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		n = 0; /* nowhere left to say it */
	errno = saved_errno;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool log_ratelimit_allow(struct log_ratelimit *rl)
{
	const uint64_t interval_ms = 5000;
	const unsigned int burst = 10;
	uint64_t now = now_ms();

	if (now - rl->window_start_ms >= interval_ms) {
		if (rl->suppressed)
			log_msg(LOG_WARN, "log", "%u similar messages suppressed", rl->suppressed);
		rl->window_start_ms = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed < burst) {
		rl->printed++;
		return true;
	}
	rl->suppressed++;
	return false;
}

int err_reason(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}
