package admissionbench

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

func ids(round []Configuration) []string {
	var out []string
	for _, c := range round {
		out = append(out, c.ID)
	}
	return out
}

func TestScheduleRunsEveryConfigurationOncePerRound(t *testing.T) {
	configs := Configurations()
	want := ids(configs)
	slices.Sort(want)
	schedule := Schedule(configs, 6, 1)
	if len(schedule) != 6 {
		t.Fatalf("%d rounds, want 6", len(schedule))
	}
	orders := map[string]bool{}
	firsts := map[string]bool{}
	for r, round := range schedule {
		got := ids(round)
		orders[strings.Join(got, ",")] = true
		firsts[got[0]] = true
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("round %d runs %v, want each of %v once", r+1, got, want)
		}
	}
	// Shuffled: rounds do not all share one order, nor one first configuration.
	if len(orders) < 2 || len(firsts) < 2 {
		t.Errorf("%d distinct orders and %d distinct first configurations over 6 rounds: not shuffled", len(orders), len(firsts))
	}
	if !slices.Equal(ids(configs), ids(Configurations())) {
		t.Error("Schedule reordered its argument")
	}
}

func TestScheduleIsReproducible(t *testing.T) {
	a, b := Schedule(Configurations(), 5, 42), Schedule(Configurations(), 5, 42)
	c := Schedule(Configurations(), 5, 43)
	same, differs := true, false
	for r := range a {
		same = same && slices.Equal(ids(a[r]), ids(b[r]))
		differs = differs || !slices.Equal(ids(a[r]), ids(c[r]))
	}
	if !same {
		t.Error("the same seed gave two schedules")
	}
	if !differs {
		t.Error("seeds 42 and 43 gave the same schedule")
	}
}

func TestWriteCSV(t *testing.T) {
	var out bytes.Buffer
	err := WriteCSV(&out, []Sample{
		{Round: 1, Configuration: "none", Latency: 2500 * time.Microsecond},
		{Round: 2, Configuration: "vap-10", Latency: 1234567 * time.Nanosecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "round,configuration,latency_us\n1,none,2500\n2,vap-10,1234\n"
	if out.String() != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestSelectConfigurations(t *testing.T) {
	got, err := SelectConfigurations([]string{WebhookID, NoPolicyID, "vap-100"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{NoPolicyID, "vap-100", WebhookID}; !slices.Equal(ids(got), want) {
		t.Errorf("selected %v, want %v in table order", ids(got), want)
	}
	if _, err := SelectConfigurations([]string{"vap-1O"}); err == nil {
		t.Error("a misspelt configuration was accepted")
	}
	all := ids(Configurations())
	if want := []string{"none", "vap-1", "vap-10", "vap-100", "map-1", "map-10", "webhook"}; !slices.Equal(all, want) {
		t.Errorf("configurations %v, want %v", all, want)
	}
}
