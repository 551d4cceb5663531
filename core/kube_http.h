#ifndef FL_CORE_KUBE_HTTP_H
#define FL_CORE_KUBE_HTTP_H
/*
 * The Kubernetes API over libcurl (library fl_kube_http; core/kube.h has the
 * parsers it uses).
 */
#include <stddef.h>

#include "core/compiler.h"
#include "core/error.h"
#include "core/kube.h"

/*
 * GET every page of a pod list (following metadata.continue, at most
 * FL_KUBE_PAGES_MAX pages) into `out`, with cfg's server, CA, token or client
 * certificate. ns NULL lists all namespaces; labels and fields are selectors
 * or NULL. A non-200 answer is the API's Status message (fl_kube_status_error).
 */
/*
 * At exit, after the last fl_kube_list_pods: undo the curl_global_init() the
 * agent's flavour (fl_kube_http_dl) made when it loaded libcurl; nothing in
 * the linked flavour, whose program owns libcurl's global state.
 */
void fl_kube_http_cleanup(void);

int fl_kube_list_pods(const struct fl_kube_config *cfg, const char *ns, const char *labels,
		      const char *fields, struct fl_kube_pod_list *out,
		      struct fl_error *err) FL_WUR;

#endif
