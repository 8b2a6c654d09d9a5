SELECT o_id, o_due, o_first FROM flow_debounce_put($1, $2, $3, $4, $5)
