/* Subcommands of the sardine command line. */
#ifndef SARDINE_CLI_H
#define SARDINE_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/landlock.h"
#include "vmm/sandbox.h"

int cli_run(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_list(int argc, char **argv);
int cli_console(int argc, char **argv);
/* info, counters, pause, resume, shutdown, reboot, power-button, boot,
 * delete, stop: argv[0] is the command. */
bool cli_is_ctl(const char *cmd);
int cli_ctl(int argc, char **argv);

/* NAME (a VM's name) or a socket path -> the API socket's path; on error
 * says why and returns the exit status. */
int cli_target_path(const char *target, char *path, size_t len);

struct api_reply;
/* One API call to target's socket at path (body NULL or JSON); on failure
 * says why (one line) and returns the exit status, else 0. */
int cli_call(const char *target, const char *path, const char *method, const char *endpoint,
	     const char *body, struct api_reply *reply);
/* A JSON answer, pretty-printed to stdout; EXIT_VM_ERROR if it is not JSON. */
int cli_print_json(const char *body);
/* sardine balloon NAME SIZE|--stats */
int cli_balloon(int argc, char **argv);

/* --seccomp's value for run and serve; says what is wrong, -EINVAL. */
int cli_seccomp_option(const char *arg, enum sandbox_mode *out);
/* --landlock's value for run and serve; says what is wrong, -EINVAL. */
int cli_landlock_option(const char *arg, enum landlock_mode *out);

/* One-line error to stderr, "sardine: error: ...". */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
