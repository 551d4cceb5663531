/*
 * libFuzzer target: the report generator's input, a journal from anywhere
 * (`faultline report JOURNAL...`): the JSON is parsed as cmd_report.c does
 * and rendered as the HTML page and the markdown comment, alone and as a
 * comparison of two runs; the journal's timestamps go through the RFC 3339
 * reader too. A render must never fail but for its size cap.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controller/report_model.h"
#include "controller/report_render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile int sink;

static void render(const struct fl_report_input *in, size_t n)
{
	struct fl_buf b;
	int r;

	fl_buf_init(&b, FL_REPORT_OUT_MAX);
	r = fl_report_html_render(in, n, &b);
	if (r < 0 && r != -E2BIG && r != -ENOMEM)
		abort();
	fl_buf_done(&b);
	fl_buf_init(&b, FL_REPORT_OUT_MAX);
	r = fl_report_md_render(in, n, &b);
	if (r < 0 && r != -E2BIG && r != -ENOMEM)
		abort();
	fl_buf_done(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_report_input in[2];
	char tbuf[64];
	int64_t ms;
	cJSON *j;

	/* The first bytes as a timestamp. */
	memcpy(tbuf, data, size < sizeof(tbuf) - 1 ? size : sizeof(tbuf) - 1);
	tbuf[size < sizeof(tbuf) - 1 ? size : sizeof(tbuf) - 1] = '\0';
	sink += fl_report_parse_time(tbuf, &ms);
	if (size > (1u << 20))
		return 0;
	j = cJSON_ParseWithLengthOpts((const char *)data, size, NULL, 0);
	if (!j)
		return 0;
	in[0] = (struct fl_report_input){.journal = j, .name = "fuzz.json"};
	in[1] = (struct fl_report_input){.journal = j, .name = NULL};
	render(in, 1);
	render(in, 2);
	cJSON_Delete(j);
	return 0;
}
