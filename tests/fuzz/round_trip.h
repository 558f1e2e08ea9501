/* For the fuzz targets that end up with a vm_config: the promise of the
 * API that a config shown by vm.info is one vm.create takes back as is. */
#ifndef SARDINE_FUZZ_ROUND_TRIP_H
#define SARDINE_FUZZ_ROUND_TRIP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/vmconfig.h"
#include "vmm/config.h"

/* The VmConfig document of cfg as text (NULL: out of memory). */
static char *emit_vmconfig(const struct vm_config *cfg)
{
	struct json_object *doc = vmconfig_to_json(cfg);
	char *text = doc ? strdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN)) : NULL;

	json_object_put(doc);
	return text;
}

/* parse(emit(cfg)) must succeed and emit the same text again. */
static void check_round_trip(const struct vm_config *cfg)
{
	struct vm_config back;
	char err[256], *first = emit_vmconfig(cfg), *second;

	if (!first)
		return; /* out of memory */
	if (vmconfig_parse(first, strlen(first), &back, err, sizeof(err))) {
		fprintf(stderr, "emitted config refused: %s\n%s\n", err, first);
		abort();
	}
	second = emit_vmconfig(&back);
	if (second && strcmp(first, second) != 0) {
		fprintf(stderr, "round trip changed the config:\n%s\n%s\n", first, second);
		abort();
	}
	free(first);
	free(second);
	config_free(&back);
}

#endif
