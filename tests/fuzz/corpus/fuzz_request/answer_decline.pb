
ans-2z 
PW-2025-0142/1client_refuses