package demo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves the demo's HTTP API:
//
//	GET  <metricsPath>                       the metrics of g, for Prometheus to scrape
//	GET  /scenario                           the Status, as JSON
//	POST /scenario?name=<scenario>           switch every database; answers the new Status
//	POST /scenario?name=<scenario>&db=<name> switch the database of that db_name only
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
		if db := r.URL.Query().Get("db"); db != "" {
			if err := w.SetScenarioOf(db, s); err != nil {
				writeJSON(rw, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
		} else {
			w.SetScenario(s)
		}
		writeJSON(rw, http.StatusOK, w.Status())
	})
	if metricsPath == "/" {
		return mux
	}
	mux.HandleFunc("GET /{$}", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(rw, "dbmonctl demo\n\nGET  %s\nGET  /scenario\nPOST /scenario?name=<scenario>\n", metricsPath)
		if len(w.Databases()) > 0 {
			fmt.Fprintf(rw, "POST /scenario?name=<scenario>&db=<database>\n")
		}
		fmt.Fprintf(rw, "\nscenarios:")
		for _, s := range Scenarios() {
			fmt.Fprintf(rw, " %s", s)
		}
		fmt.Fprintln(rw)
		if len(w.Databases()) > 0 {
			fmt.Fprintf(rw, "databases: %s\n", strings.Join(w.Databases(), " "))
		}
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
