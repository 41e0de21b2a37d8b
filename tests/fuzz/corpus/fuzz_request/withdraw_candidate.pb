
wd-2j
	dock-0207