package demo

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves the demo's HTTP API:
//
//	GET  <metricsPath>             the metrics of g, for Prometheus to scrape
//	GET  /scenario                 the Status, as JSON
//	POST /scenario?name=<scenario> switch scenario; answers the new Status
//
// The control endpoint has no authentication: serve it on loopback.
func (w *Workload) Handler(g prometheus.Gatherer, metricsPath string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+metricsPath, promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorLog: slogPrinter{w}}))
	mux.HandleFunc("GET /scenario", func(rw http.ResponseWriter, _ *http.Request) {
		writeJSON(rw, http.StatusOK, w.Status())
	})
	mux.HandleFunc("POST /scenario", func(rw http.ResponseWriter, r *http.Request) {
		s, err := ParseScenario(r.URL.Query().Get("name"))
		if err != nil {
			writeJSON(rw, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		w.SetScenario(s)
		writeJSON(rw, http.StatusOK, w.Status())
	})
	if metricsPath == "/" {
		return mux
	}
	mux.HandleFunc("GET /{$}", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(rw, "dbmonctl demo\n\nGET  %s\nGET  /scenario\nPOST /scenario?name=<scenario>\n\nscenarios:", metricsPath)
		for _, s := range Scenarios() {
			fmt.Fprintf(rw, " %s", s)
		}
		fmt.Fprintln(rw)
	})
	return mux
}

func writeJSON(rw http.ResponseWriter, code int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(code)
	enc := json.NewEncoder(rw)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to tell it
}

// slogPrinter lets promhttp report gathering errors through the demo's logger.
type slogPrinter struct{ w *Workload }

func (p slogPrinter) Println(v ...any) { p.w.log.Error(fmt.Sprint(v...)) }
