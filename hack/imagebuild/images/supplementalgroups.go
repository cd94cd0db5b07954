package images

// SupplementalGroups is the test image of KEP-3619: the test busybox image
// plus an /etc/group that puts uid 1000 in groups 3000 and 4000. A pod that
// runs it as uid 1000 gets those groups from the image under the Merge
// policy and does not under Strict, which is the difference the e2e checks.
func SupplementalGroups(ref string, src Sources) (Spec, error) {
	base, err := Busybox(ref, src)
	if err != nil {
		return Spec{}, err
	}
	accounts, err := FileLayer([]Entry{
		{Path: "/etc/passwd", Mode: 0o644, Content: []byte(
			"root:x:0:0:root:/root:/bin/sh\n" +
				"user-in-image:x:1000:1000::/tmp:/bin/sh\n")},
		{Path: "/etc/group", Mode: 0o644, Content: []byte(
			"root:x:0:\n" +
				"user-in-image:x:1000:\n" +
				"group-in-image-3000:x:3000:user-in-image\n" +
				"group-in-image-4000:x:4000:user-in-image\n")},
	})
	if err != nil {
		return Spec{}, err
	}
	base.Layers = append(base.Layers, accounts)
	return base, nil
}
