
urg-1r

kam-0012