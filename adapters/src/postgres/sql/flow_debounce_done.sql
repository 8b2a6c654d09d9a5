DELETE FROM flow_debounce WHERE id = $2 AND key = $1
