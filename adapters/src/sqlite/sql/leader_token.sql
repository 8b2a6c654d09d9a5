SELECT token FROM stem_beat_leader WHERE ns = ?1
