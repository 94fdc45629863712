// Command kindnet is a small stand-in for kind's kindnetd (whose source is not published as a Go module, so it
// cannot be built here). It runs from kind's own CNI manifest (the DaemonSet kind installs, with the same
// environment: HOST_IP, POD_SUBNET, CONTROL_PLANE_ENDPOINT) and does what a kind cluster needs from kindnetd:
//   - writes /etc/cni/net.d/10-kindnet.conflist for its node (ptp + host-local on the node's spec.podCIDR,
//     portmap for hostPorts), which makes the node's network ready;
//   - routes every other node's pod CIDR via that node's InternalIP.
// Not done (not needed by the scenarios): network policies and kindnetd's own masquerade rules (the ptp plugin's
// ipMasq covers pod egress), IPv6 and dual stack.
// It reads Nodes from the API server with the pod's service account token every few seconds (no client library,
// to keep the offline build small).
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/vishvananda/netlink"
)

const (
	serviceAccount = "/var/run/secrets/kubernetes.io/serviceaccount"
	cniConfig      = "/etc/cni/net.d/10-kindnet.conflist"
)

type nodeList struct {
	Items []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			PodCIDR string `json:"podCIDR"`
		} `json:"spec"`
		Status struct {
			Addresses []struct {
				Type    string `json:"type"`
				Address string `json:"address"`
			} `json:"addresses"`
		} `json:"status"`
	} `json:"items"`
}

func apiClient() (*http.Client, string) {
	endpoint := os.Getenv("CONTROL_PLANE_ENDPOINT")
	if endpoint == "" {
		endpoint = net.JoinHostPort(os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT"))
	}
	ca, err := os.ReadFile(serviceAccount + "/ca.crt")
	if err != nil {
		log.Fatalf("service account CA: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return &http.Client{Transport: transport, Timeout: 10 * time.Second}, "https://" + endpoint
}

func listNodes(client *http.Client, base string) (*nodeList, error) {
	token, err := os.ReadFile(serviceAccount + "/token")
	if err != nil {
		return nil, err
	}
	request, err := http.NewRequest(http.MethodGet, base+"/api/v1/nodes", nil)
	if err != nil {
		return nil, err
	}
	request.Header.Set("Authorization", "Bearer "+string(token))
	response, err := client.Do(request)
	if err != nil {
		return nil, err
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/nodes: %s", response.Status)
	}
	nodes := &nodeList{}
	return nodes, json.NewDecoder(response.Body).Decode(nodes)
}

func writeConfig(podCIDR string) error {
	config := fmt.Sprintf(`{
  "cniVersion": "0.3.1",
  "name": "kindnet",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "/run/cni-ipam-state",
        "routes": [{"dst": "0.0.0.0/0"}],
        "ranges": [[{"subnet": %q}]]
      },
      "mtu": 1500
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, podCIDR)
	if current, err := os.ReadFile(cniConfig); err == nil && string(current) == config {
		return nil
	}
	if err := os.WriteFile(cniConfig+".tmp", []byte(config), 0o644); err != nil {
		return err
	}
	log.Printf("CNI configuration for pod CIDR %s", podCIDR)
	return os.Rename(cniConfig+".tmp", cniConfig)
}

func route(podCIDR, via string) error {
	_, dst, err := net.ParseCIDR(podCIDR)
	if err != nil {
		return err
	}
	gateway := net.ParseIP(via)
	if gateway == nil {
		return fmt.Errorf("bad node address %q", via)
	}
	return netlink.RouteReplace(&netlink.Route{Dst: dst, Gw: gateway})
}

func sync(client *http.Client, base, hostIP string, routed map[string]string) error {
	nodes, err := listNodes(client, base)
	if err != nil {
		return err
	}
	for _, node := range nodes.Items {
		internalIP := ""
		for _, address := range node.Status.Addresses {
			if address.Type == "InternalIP" && net.ParseIP(address.Address).To4() != nil {
				internalIP = address.Address
			}
		}
		if node.Spec.PodCIDR == "" || internalIP == "" {
			continue
		}
		if internalIP == hostIP {
			if err := writeConfig(node.Spec.PodCIDR); err != nil {
				return err
			}
			continue
		}
		if routed[node.Spec.PodCIDR] == internalIP {
			continue
		}
		if err := route(node.Spec.PodCIDR, internalIP); err != nil {
			return fmt.Errorf("route %s via %s (node %s): %w", node.Spec.PodCIDR, internalIP, node.Metadata.Name, err)
		}
		log.Printf("route %s via %s (node %s)", node.Spec.PodCIDR, internalIP, node.Metadata.Name)
		routed[node.Spec.PodCIDR] = internalIP
	}
	return nil
}

func main() {
	hostIP := os.Getenv("HOST_IP")
	if hostIP == "" {
		log.Fatal("HOST_IP is not set")
	}
	client, base := apiClient()
	log.Printf("kindnet stand-in on %s, API server %s", hostIP, base)
	routed := map[string]string{}
	for {
		if err := sync(client, base, hostIP, routed); err != nil {
			log.Printf("sync: %v", err)
		}
		time.Sleep(5 * time.Second)
	}
}
