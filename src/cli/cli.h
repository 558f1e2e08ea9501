/* Subcommands of the sardine command line. */
#ifndef SARDINE_CLI_H
#define SARDINE_CLI_H

int cli_run(int argc, char **argv);

/* One-line error to stderr, "sardine: error: ...". */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
