package main

import (
	"bytes"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// image is one entry of a test image index.
type image struct {
	platform   v1.Platform
	entrypoint []string
}

// writeLayout writes an OCI image layout holding one image per entry.
func writeLayout(t *testing.T, images ...image) string {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	for _, im := range images {
		img, err := mutate.Config(empty.Image, v1.Config{Entrypoint: im.entrypoint})
		require.NoError(t, err)
		p := im.platform
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}

	dir := t.TempDir()
	_, err := layout.Write(dir, idx)
	require.NoError(t, err)
	return dir
}

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
)

// TestCheckImage_Platforms requires an image for the platform asked for,
// with a command to run.
func TestCheckImage_Platforms(t *testing.T) {
	run := []string{"/func/f"}
	cases := []struct {
		name   string
		images []image
		want   error
	}{
		{"present", []image{{arm64, run}, {amd64, run}}, nil},
		{"other platform only", []image{{arm64, run}}, ErrNoImage},
		{"no entrypoint", []image{{amd64, nil}}, ErrNoEntrypoint},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeLayout(t, tc.images...)

			var out bytes.Buffer
			err := checkImage(&out, dir, amd64)
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, out.String(), "image "+tc.images[0].platform.String()+" sha256:")
		})
	}
}

// TestCheckImage_NotALayout fails on a folder that holds no OCI layout.
func TestCheckImage_NotALayout(t *testing.T) {
	err := checkImage(&bytes.Buffer{}, t.TempDir(), amd64)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "read OCI layout")
}
