/*
 * main() for the fuzz targets in a normal (non-libFuzzer) build: runs every
 * file named on the command line, or every file in a named directory, once
 * through LLVMFuzzerTestOneInput. CTest replays tests/fuzz/corpus/<target>/
 * this way, so the seeds and every regression input run in the normal and the
 * ASan suites, and the harnesses keep building.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path, unsigned *n)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;

	if (!f) {
		perror(path);
		return 1;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0) {
		fclose(f);
		return 1;
	}
	rewind(f);
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		fclose(f);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput((const uint8_t *)buf, (size_t)len);
	free(buf);
	(*n)++;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned n = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		struct dirent **ents;
		int m;

		if (stat(argv[i], &st) < 0 || !S_ISDIR(st.st_mode)) {
			if (run_file(argv[i], &n))
				return 1;
			continue;
		}
		m = scandir(argv[i], &ents, NULL, alphasort);
		if (m < 0) {
			perror(argv[i]);
			return 1;
		}
		for (int k = 0; k < m; k++) {
			char p[4096];

			if (ents[k]->d_name[0] != '.') {
				snprintf(p, sizeof(p), "%s/%s", argv[i], ents[k]->d_name);
				if (run_file(p, &n))
					return 1;
			}
			free(ents[k]);
		}
		free(ents);
	}
	printf("replayed %u inputs\n", n);
	return n ? 0 : 1;
}
