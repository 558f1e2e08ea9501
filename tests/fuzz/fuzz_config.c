/* libFuzzer target: the command line's option strings (--disk, --net,
 * --share, --balloon, --console, sizes, MAC addresses, VM names).
 *
 * Input: lines; the first byte of each picks the parser, the rest is the
 * option's text as a user would type it.  Every refusal must come with a
 * one-line reason.  What the parsers accept must keep the limits the
 * devices rely on, survive config_copy unchanged, and, once
 * config_validate passes, make the VmConfig round trip of the API
 * (emit -> parse -> emit gives the same document), so a VM started from
 * the command line shows itself truthfully in vm.info. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "round_trip.h"
#include "vmm/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refusal(int ret, const char *err)
{
	assert(ret < 0);
	assert(err[0] != '\0' && strchr(err, '\n') == NULL);
}

static void check_limits(const struct vm_config *cfg)
{
	assert(cfg->nr_disks <= VM_MAX_DISKS && cfg->nr_nets <= VM_MAX_NETS &&
	       cfg->nr_shares <= VM_MAX_SHARES);
	for (unsigned int i = 0; i < cfg->nr_disks; i++)
		assert(cfg->disks[i].path && cfg->disks[i].path[0] &&
		       strlen(cfg->disks[i].serial) <= DISK_SERIAL_MAX);
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const struct net_config *n = &cfg->nets[i];

		assert((n->tap != NULL) != (n->fd >= 0));
		for (unsigned int r = 0; r < 2; r++) {
			unsigned int ring = r ? n->tx_ring : n->rx_ring;

			assert(ring == 0 || (ring >= NET_RING_MIN && ring <= NET_RING_MAX &&
					     !(ring & (ring - 1))));
		}
	}
	for (unsigned int i = 0; i < cfg->nr_shares; i++)
		assert(cfg->shares[i].path && cfg->shares[i].tag[0] &&
		       strlen(cfg->shares[i].tag) <= SHARE_TAG_MAX);
}

static void check_copy_and_round_trip(struct vm_config *cfg)
{
	struct vm_config copy;
	char err[256], *first, *second;

	free(cfg->kernel);
	cfg->kernel = strdup("/boot/vmlinuz");
	assert(cfg->kernel);
	first = emit_vmconfig(cfg);
	assert(config_copy(&copy, cfg) == 0);
	second = emit_vmconfig(&copy);
	assert(first && second && strcmp(first, second) == 0);
	free(first);
	free(second);
	config_free(&copy);
	if (config_validate(cfg, err, sizeof(err)))
		check_refusal(-1, err);
	else
		check_round_trip(cfg);
}

static void parse_line(struct vm_config *cfg, char kind, const char *text)
{
	char err[256] = "";
	uint64_t size;
	unsigned long n;
	uint8_t mac[6];
	int ret = 0;

	switch (kind) {
	case 'd': ret = config_add_disk(cfg, text, err, sizeof(err)); break;
	case 'n': ret = config_add_net(cfg, text, err, sizeof(err)); break;
	case 's': ret = config_add_share(cfg, text, err, sizeof(err)); break;
	case 'b': ret = config_set_balloon(cfg, text, err, sizeof(err)); break;
	case 'c': ret = config_set_console(cfg, text, err, sizeof(err)); break;
	case 'z':
		if (parse_size(text, 1 << 20, &size) == 0)
			assert(text[0] != '\0');
		return;
	case 'u':
		if (parse_uint(text, 1, 4096, &n) == 0)
			assert(n >= 1 && n <= 4096);
		return;
	case 'm':
		(void)parse_mac(text, mac);
		return;
	case 'N':
		if (config_valid_name(text))
			assert(strlen(text) >= 1 && strlen(text) <= VM_NAME_MAX && text[0] != '.' &&
			       text[0] != '-');
		return;
	default:
		return;
	}
	if (ret)
		check_refusal(ret, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *line, *save = NULL;
	struct vm_config cfg;

	assert(text);
	memcpy(text, data, size);
	text[size] = '\0';
	config_init_defaults(&cfg);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		parse_line(&cfg, line[0], line + 1);
	check_limits(&cfg);
	check_copy_and_round_trip(&cfg);
	config_free(&cfg);
	free(text);
	return 0;
}
