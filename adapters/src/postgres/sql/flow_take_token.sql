SELECT flow_take_token($1, $2, $3) AS wait_ms
