SELECT flow_take_slot($1, $2, $3, $4) AS taken
