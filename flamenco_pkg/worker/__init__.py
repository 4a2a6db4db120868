"""The Flamenco Worker: finds a Manager, runs its tasks with Blender and FFmpeg, reports back."""
