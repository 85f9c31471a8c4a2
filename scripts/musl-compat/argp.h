/* Declarations only, for building libelf against musl (which has no argp).
 *
 * libbpf-sys builds libelf from its vendored elfutils, whose build compiles
 * lib/color.c (the --color option of the elfutils command-line tools) and that
 * file includes <argp.h>. libelf itself never calls argp, and color.o is not
 * linked into libelf.a, so these declarations only have to compile; nothing
 * here is ever called. build-static.sh puts this directory on the include path
 * of musl builds only.
 */
#ifndef LEBPF_MUSL_COMPAT_ARGP_H
#define LEBPF_MUSL_COMPAT_ARGP_H

#include <errno.h>
#include <stdio.h>

#ifndef __error_t_defined
typedef int error_t;
#define __error_t_defined 1
#endif

#define ARGP_ERR_UNKNOWN E2BIG
#define ARGP_KEY_ARG 0
#define ARGP_HELP_SEE 0x200
#define OPTION_ARG_OPTIONAL 0x1
#define OPTION_HIDDEN 0x2

struct argp_state;
struct argp_child;

struct argp_option {
	const char *name;
	int key;
	const char *arg;
	int flags;
	const char *doc;
	int group;
};

typedef error_t (*argp_parser_t)(int key, char *arg, struct argp_state *state);

struct argp {
	const struct argp_option *options;
	argp_parser_t parser;
	const char *args_doc;
	const char *doc;
	const struct argp_child *children;
	char *(*help_filter)(int key, const char *text, void *input);
	const char *argp_domain;
};

struct argp_state {
	const struct argp *root_argp;
	int argc;
	char **argv;
	int next;
	unsigned flags;
	unsigned arg_num;
	int quoted;
	void *input;
	void **child_inputs;
	void *hook;
	char *name;
	FILE *err_stream;
	FILE *out_stream;
	void *pstate;
};

void argp_help(const struct argp *argp, FILE *stream, unsigned flags, char *name);
void argp_error(const struct argp_state *state, const char *fmt, ...);

#endif
