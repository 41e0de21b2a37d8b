informationQ
intake:zkij:4€Žˆ…«3gem-haarlem"zkijz&
kam-0012ribw-kamhaarlem"é