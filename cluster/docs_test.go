package cluster_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/leitai/leitai/cluster"
)

// TestOperationsDocRedisURLsParse keeps docs/operations.md true: every
// Redis URL it shows is one ParseRedisURL accepts, with the kind of server
// the table says.
func TestOperationsDocRedisURLsParse(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	urls := regexp.MustCompile("`(rediss?://[^`]+)`").FindAllStringSubmatch(string(doc), -1)
	if len(urls) < 5 {
		t.Fatalf("found %d Redis URLs in docs/operations.md; the table shows at least 5", len(urls))
	}
	for _, m := range urls {
		opts, _, err := cluster.ParseRedisURL(m[1])
		if err != nil {
			t.Errorf("docs/operations.md shows %s: %v", m[1], err)
			continue
		}
		if len(opts.Addrs) > 1 && !opts.IsClusterMode && opts.MasterName == "" {
			t.Errorf("%s: several addresses, neither Cluster nor Sentinel", m[1])
		}
	}
}
