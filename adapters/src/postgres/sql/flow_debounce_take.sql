SELECT o_what, o_value FROM flow_debounce_take($1, $2)
