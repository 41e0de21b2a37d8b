
notification:party:ribw-kam:9notificationò
ribw-kam