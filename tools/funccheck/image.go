package main

import (
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/spf13/cobra"
)

// ErrNoImage is returned when an OCI layout holds no image for the platform
// asked for.
var ErrNoImage = errors.New("funccheck: no image for the platform")

// ErrNoEntrypoint is returned when an image's config names no command to run.
var ErrNoEntrypoint = errors.New("funccheck: image config has no entrypoint or cmd")

// newImageCmd returns the image subcommand.
func newImageCmd() *cobra.Command {
	var platform string
	cmd := &cobra.Command{
		Use:   "image OCI_LAYOUT_DIR",
		Short: "Require an image for a platform, with an entrypoint, in an OCI layout",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			want, err := v1.ParsePlatform(platform)
			if err != nil {
				return fmt.Errorf("funccheck: platform %q: %w", platform, err)
			}
			return checkImage(cmd.OutOrStdout(), args[0], *want)
		},
	}
	cmd.Flags().StringVar(&platform, "platform", "linux/amd64", "platform the image must exist for")
	return cmd
}

// checkImage reads the OCI image layout in dir, prints every platform its
// index lists, and requires that one of them is want and that this image's
// config says what to run.
func checkImage(out io.Writer, dir string, want v1.Platform) error {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return fmt.Errorf("funccheck: read OCI layout %s: %w", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("funccheck: read index of %s: %w", dir, err)
	}

	var found *v1.Descriptor
	for i, d := range m.Manifests {
		if d.Platform == nil {
			continue
		}
		fmt.Fprintf(out, "image %s %s\n", d.Platform, d.Digest)
		if d.Platform.Satisfies(want) {
			found = &m.Manifests[i]
		}
	}
	if found == nil {
		return fmt.Errorf("%w %s in %s", ErrNoImage, want.String(), dir)
	}
	return checkEntrypoint(idx, *found)
}

// checkEntrypoint requires that the image d points to has an entrypoint or
// a cmd in its config.
func checkEntrypoint(idx v1.ImageIndex, d v1.Descriptor) error {
	img, err := idx.Image(d.Digest)
	if err != nil {
		return fmt.Errorf("funccheck: read image %s: %w", d.Digest, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("funccheck: read config of image %s: %w", d.Digest, err)
	}
	if len(cfg.Config.Entrypoint) == 0 && len(cfg.Config.Cmd) == 0 {
		return fmt.Errorf("%w: image %s", ErrNoEntrypoint, d.Digest)
	}
	return nil
}
