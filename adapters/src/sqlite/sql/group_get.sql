SELECT size, joined, completer, failed_by FROM stem_groups WHERE ns = ?1 AND id = ?2 AND expires_at > ?3
