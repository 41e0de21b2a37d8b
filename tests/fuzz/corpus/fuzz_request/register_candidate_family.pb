
reg-2b9
ldh-0044"almere*maatschappelijke_opvang28@H	`