package netd

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseClusterRange(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "10.244.0.0/16", want: "10.244.0.0/16"},
		{in: " 10.96.0.0/12 ", want: "10.96.0.0/12"},
		{in: "10.244.0.0", wantErr: "not a CIDR"},
		{in: "", wantErr: "not a CIDR"},
		{in: "10.244.0.0/33", wantErr: "not a CIDR"},
		{in: "10.244.1.5/16", wantErr: "host bits set; the network is 10.244.0.0/16"},
		{in: "fd00:10:244::/56", wantErr: "only IPv4 is supported"},
		{in: "0.0.0.0/0", wantErr: "covers every address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseClusterRange(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseClusterRange(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("ParseClusterRange(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "kind defaults", cfg: testConfig},
		{name: "pod range unset", cfg: Config{ServiceCIDR: testConfig.ServiceCIDR}, wantErr: "pod range: not set"},
		{name: "service range unset", cfg: Config{PodCIDR: testConfig.PodCIDR}, wantErr: "service range: not set"},
		{
			name:    "overlapping ranges",
			cfg:     Config{PodCIDR: netip.MustParsePrefix("10.0.0.0/8"), ServiceCIDR: testConfig.ServiceCIDR},
			wantErr: "pod range 10.0.0.0/8 and service range 10.96.0.0/16 overlap",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
