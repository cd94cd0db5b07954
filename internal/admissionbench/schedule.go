package admissionbench

import (
	"encoding/csv"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
)

// Schedule returns the order in which configurations run: rounds rounds,
// each holding every configuration once in an order shuffled from seed.
// Running every configuration in every round, in varying order, spreads
// machine drift (other work on the host, etcd growth, GC state) over all
// of them instead of loading it onto whichever ran last. The same seed
// gives the same schedule.
func Schedule(configs []Configuration, rounds int, seed uint64) [][]Configuration {
	rng := rand.New(rand.NewPCG(seed, 0x61646d697373696f)) // fixed stream: "admissio"
	out := make([][]Configuration, rounds)
	for r := range out {
		order := slices.Clone(configs)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		out[r] = order
	}
	return out
}

// WriteCSV writes one row per timed create: round (1-based),
// configuration ID, latency in microseconds.
func WriteCSV(w io.Writer, samples []Sample) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"round", "configuration", "latency_us"}); err != nil {
		return err
	}
	for _, s := range samples {
		if err := cw.Write([]string{strconv.Itoa(s.Round), s.Configuration, strconv.FormatInt(s.Latency.Microseconds(), 10)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
